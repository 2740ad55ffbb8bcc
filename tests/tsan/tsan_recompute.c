/* ThreadSanitizer test of a full recompute's helper threads (src/signal/signal.c recompute: the
 * trie sync beside the prefix pass, then the coverage walk in two halves; forced on with
 * DARKMAP_SYNC_THREAD=1, off with =0; the first close's IPv4 coverage by the sweep of the queue,
 * its sorting and its pieces on the helper too, or by the trie built at the close with
 * DARKMAP_SWEEP=0), run by tests/integration/tsan.sh:
 * three peers load 24,000 IPv4 and 600 IPv6 prefixes in the first bin (every one of them queued
 * for the trie at the bin's close, when the full-feed set is chosen and everything recomputed),
 * then in later bins one full-feed peer goes down and comes back (two more full recomputes, the
 * second with prefixes queued meanwhile) and prefixes are withdrawn. Checks:
 *   - the rows of every bin, threaded and not, with the sweep and without, are the same text;
 *   - the first bin's global IPv4 row against counts made here from the generated prefixes
 *     (visible prefixes, distinct /24s covered, prefixes longer than /24).
 * Prints one "ok NAME" or "not ok NAME: why" line per check; exit 1 on any failure. A data race
 * makes TSan print "WARNING: ThreadSanitizer" and exit 66 (TSAN_OPTIONS=exitcode). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rib/rib.h"
#include "signal/signal.h"
#include "tsan_util.h"
#include "../attrs_path.h"

enum { N4 = 24000, N6 = 600, BIN = 300 };

struct pfx {
	uint8_t b[16];
	uint8_t len, v6;
};

/* The generated prefixes, distinct: IPv4 inside 10.0.0.0/8 (/16, /20, /24 and /25-/28, so
 * that some cover others), IPv6 /48s and /40s inside 2001:db8::/32. */
static struct pfx *gen(void)
{
	struct pfx *p = calloc(N4 + N6, sizeof *p);
	static uint8_t seen[(1u << 20) >> 3][8];   /* by /28 of 10/8 and length class: distinct */
	uint64_t x = 0x9e3779b97f4a7c15ull;
	uint32_t n = 0;
	while (n < N4) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		static const uint8_t lens[] = { 16, 20, 24, 24, 24, 24, 24, 24, 25, 26, 28 };
		uint8_t len = lens[x % sizeof lens];
		uint32_t a = 0x0a000000u | ((uint32_t)(x >> 16) & 0x00ffffffu);
		a &= ~0u << (32 - len);
		uint32_t slot = (a & 0x00ffffffu) >> 4;   /* /28 granularity */
		unsigned cls = len == 16 ? 0 : len == 20 ? 1 : len == 24 ? 2 : len - 22;   /* 0..6 */
		if (seen[slot >> 3][cls] & (1u << (slot & 7)))
			continue;
		seen[slot >> 3][cls] |= (uint8_t)(1u << (slot & 7));
		p[n].b[0] = (uint8_t)(a >> 24), p[n].b[1] = (uint8_t)(a >> 16);
		p[n].b[2] = (uint8_t)(a >> 8), p[n].b[3] = (uint8_t)a;
		p[n++].len = len;
	}
	for (uint32_t i = 0; i < N6; i++) {
		struct pfx *q = &p[N4 + i];
		q->v6 = 1;
		q->b[0] = 0x20, q->b[1] = 0x01, q->b[2] = 0x0d, q->b[3] = 0xb8;
		q->b[4] = (uint8_t)(i >> 8), q->b[5] = (uint8_t)i;
		q->len = i % 10 == 0 ? 40 : 48;
		if (q->len == 40)
			q->b[5] = 0;
	}
	return p;
}


static struct dm_ip peer_ip[3];

static void feed(struct sig *s, char type, int64_t ts, int peer, const struct pfx *q, uint32_t origin)
{
	struct attrs_buf ab;
	struct dm_elem e;
	peer_elem(&e, type, ts, peer, peer_ip);
	if (q) {
		e.prefix.afi = q->v6 ? DM_AFI_IPV6 : DM_AFI_IPV4;
		e.prefix.len = q->len;
		memcpy(e.prefix.b, q->b, 16);
	} else {
		e.old_state = 6;   /* Established -> Idle (type 'S'), or back (origin 1) */
		e.new_state = 1;
		if (origin) {
			e.old_state = 1;
			e.new_state = 6;
		}
	}
	if (type == 'A')
		e.attrs = path_to(&ab, e.peer_asn, origin);
	sig_time(s, ts);
	sig_elem(s, 0, &e);
}

struct rows {
	char *text;
	size_t len, cap;
	/* the first bin's global IPv4 row */
	int have_first;
	struct sig_bin first;
};

static void on_row(void *arg, const struct sig_entity *e, const struct sig_bin *b)
{
	struct rows *r = arg;
	char line[512];
	int n = snprintf(line, sizeof line, "%d %d %s %u t=%lld v=%llu s=%llu base=%llu ps=%u ff=%u up=%u f=%a a=%u w=%u i=%u m=%u q=%u\n",
	                 e->kind, e->afi, e->kind == SIG_COUNTRY ? e->cc : "-", e->asn, (long long)b->t,
	                 (unsigned long long)b->visible_prefixes, (unsigned long long)b->slash24,
	                 (unsigned long long)b->baseline_slash24, b->peers_seeing, b->full_feed_peers, b->peers_up,
	                 (double)b->peer_frac, b->announcements, b->withdrawals, b->interruptions, b->more_specifics,
	                 b->quality);
	if (r->len + (size_t)n + 1 > r->cap) {
		r->cap = (r->cap + (size_t)n + 1) * 2;
		r->text = realloc(r->text, r->cap);
	}
	memcpy(r->text + r->len, line, (size_t)n + 1);
	r->len += (size_t)n;
	if (!r->have_first && e->kind == SIG_GLOBAL && e->afi == DM_AFI_IPV4) {
		r->have_first = 1;
		r->first = *b;
	}
}

static void run(const struct pfx *p, const char *threaded, const char *sweep, struct rows *out)
{
	setenv("DARKMAP_SYNC_THREAD", threaded, 1);
	setenv("DARKMAP_SWEEP", sweep, 1);
	struct rib *rib = rib_new();
	struct sig_opts o;
	sig_opts_default(&o);
	o.bin = BIN;
	o.ff_rule = SIG_FF_ABS;
	o.ff_abs[0] = 20000;   /* peers 0 and 1 (every prefix); peer 2 holds half */
	o.ff_abs[1] = 500;
	struct sig *s = sig_new(rib, NULL, NULL, &o);
	sig_set_emit(s, on_row, out);
	sig_want_countries(s);
	for (uint32_t i = 0; i < 64; i++)
		sig_want_asn(s, 65000 + i);
	sig_start(s);
	int64_t t0 = 1700000100;   /* a bin start (a multiple of 300) */
	for (int peer = 0; peer < 3; peer++)
		for (uint32_t i = 0; i < N4 + N6; i++)
			if (peer < 2 || i % 2)
				feed(s, 'A', t0 + 1, peer, &p[i], 65000 + i % 97);
	/* bin 2: peer 1 down (a full recompute), new prefixes queued meanwhile by peer 2 */
	feed(s, 'S', t0 + BIN + 1, 1, NULL, 0);
	for (uint32_t i = 0; i < N4; i += 2)
		feed(s, 'A', t0 + BIN + 2, 2, &p[i], 65000 + i % 97);
	/* bin 3: peer 1 back with its table: more prefixes queued, then withdrawals */
	feed(s, 'S', t0 + 2 * BIN + 1, 1, NULL, 1);
	for (uint32_t i = 0; i < N4 + N6; i++)
		feed(s, 'A', t0 + 2 * BIN + 2, 1, &p[i], 65000 + i % 89);
	for (uint32_t i = 0; i < N4; i += 3)
		feed(s, 'W', t0 + 3 * BIN + 2, 0, &p[i], 0);
	sig_finish(s);
	sig_free(s);
	rib_free(rib);
}

int main(void)
{
	struct pfx *p = gen();
	/* counts made here: distinct /24s of 10/8 covered by prefixes <= /24, and prefixes > /24 */
	static uint8_t cov[1u << 16];
	uint64_t n24 = 0, more = 0;
	for (uint32_t i = 0; i < N4; i++) {
		uint32_t a = (uint32_t)p[i].b[1] << 8 | p[i].b[2];
		if (p[i].len > 24) {
			more++;
			continue;
		}
		for (uint32_t k = 0; k < 1u << (24 - p[i].len); k++)
			if (!cov[a + k]++)
				n24++;
	}
	struct rows one = { 0 }, two = { 0 }, trie = { 0 };
	run(p, "0", "1", &one);
	run(p, "1", "1", &two);
	run(p, "1", "0", &trie);
	char why[200];
	int ok = one.text && two.text && one.len == two.len && memcmp(one.text, two.text, one.len) == 0;
	snprintf(why, sizeof why, "rows differ: %zu bytes without the thread, %zu with", one.len, two.len);
	result("recompute-sync-thread-same-rows", ok, why);
	ok = trie.text && two.text && trie.len == two.len && memcmp(trie.text, two.text, trie.len) == 0;
	snprintf(why, sizeof why, "rows differ: %zu bytes with the trie built at the close, %zu by the sweep", trie.len,
	         two.len);
	result("recompute-sweep-same-rows-as-trie", ok, why);
	for (int k = 0; k < 2; k++) {
		const struct rows *r = k ? &two : &one;
		ok = r->have_first && r->first.visible_prefixes == N4 && r->first.slash24 == n24 &&
		     r->first.more_specifics == more && r->first.full_feed_peers == 2;
		snprintf(why, sizeof why, "first bin: visible %llu (want %u), /24s %llu (want %llu), more %u (want %llu)",
		         (unsigned long long)r->first.visible_prefixes, N4, (unsigned long long)r->first.slash24,
		         (unsigned long long)n24, r->first.more_specifics, (unsigned long long)more);
		result(k ? "recompute-sync-thread-counts" : "recompute-sync-inline-counts", ok, why);
	}
	free(one.text);
	free(two.text);
	free(trie.text);
	free(p);
	return failures ? 1 : 0;
}
